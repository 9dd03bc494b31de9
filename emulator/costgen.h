/*
 * emulator/costgen.h - placeholder: the cost line generator arrives with
 * issue 3.
 */
#ifndef CB_EMULATOR_COSTGEN_H
#define CB_EMULATOR_COSTGEN_H

/* `armsim gen-costs ...`: argv[0] is "gen-costs".  Returns an exit code. */
int as_gencosts_main(int argc, char **argv);

#endif
