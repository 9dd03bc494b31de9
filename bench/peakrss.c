/*
 * bench/peakrss.c - run a command and report its peak resident memory.
 *
 *   peakrss [--out FILE] COMMAND [ARG...]
 *
 * Runs COMMAND (searched in PATH) with the same standard streams, waits
 * for it with wait4() and reports the rusage that returns: ru_maxrss, the
 * most resident memory the process held at any moment (KiB on Linux),
 * and the wall time from fork to exit.  The report is one line
 * "peak_rss_kib N wall_seconds S", written to FILE (so the command's own
 * output stays untouched) or, without --out, to standard error.  The
 * exit status is the command's; 128 + N when signal N killed it; 127
 * when it could not be started; 2 for a usage error.
 *
 * bench/ingest runs `chargeback ingest` under it: the target is
 * under 64 MB whatever the file size.
 */
#define _DEFAULT_SOURCE

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
usage(void)
{
	fprintf(stderr, "usage: peakrss [--out FILE] COMMAND [ARG...]\n");
	return 2;
}

int
main(int argc, char **argv)
{
	const char *out_path = NULL;
	struct rusage ru;
	int argi = 1, status = 0, rc;
	double t0, t1;
	FILE *out;
	pid_t pid;

	if (argi < argc && strcmp(argv[argi], "--out") == 0) {
		if (argi + 1 >= argc)
			return usage();
		out_path = argv[argi + 1];
		argi += 2;
	}
	if (argi < argc && strcmp(argv[argi], "--") == 0)
		argi++;
	if (argi >= argc || argv[argi][0] == '-')
		return usage();

	t0 = now();
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "peakrss: fork: %s\n", strerror(errno));
		return 127;
	}
	if (pid == 0) {
		execvp(argv[argi], argv + argi);
		fprintf(stderr, "peakrss: %s: %s\n", argv[argi],
			strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "peakrss: wait4: %s\n",
				strerror(errno));
			return 127;
		}
	}
	t1 = now();

	if (WIFEXITED(status))
		rc = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		rc = 128 + WTERMSIG(status);
	else
		rc = 127;

	out = stderr;
	if (out_path != NULL && (out = fopen(out_path, "w")) == NULL) {
		fprintf(stderr, "peakrss: %s: %s\n", out_path, strerror(errno));
		return rc != 0 ? rc : 1;
	}
	fprintf(out, "peak_rss_kib %ld wall_seconds %.6f\n", ru.ru_maxrss,
		t1 - t0);
	if (out != stderr && fclose(out) != 0) {
		fprintf(stderr, "peakrss: %s: %s\n", out_path, strerror(errno));
		return rc != 0 ? rc : 1;
	}
	return rc;
}
