-- tests/data/money/generate.sql - expected results computed by PostgreSQL.
--
-- PostgreSQL's numeric is the reference DESIGN.md names ("any figure can
-- be re-derived in SQL"), so it is the independent oracle for parsing,
-- products, quotients and rounding.  Only exact numeric operations are
-- used: text input, trunc, round (half away from zero), multiplication and
-- div() (integer quotient, truncating); never "/", which rounds to a
-- computed scale.  Regenerate with:
--   scripts/pg-local start; eval "$(scripts/pg-local env)"
--   psql "$CHARGEBACK_DSN" -XAtq -F "$(printf '\t')" \
--     -f tests/data/money/generate.sql >tests/data/money/pg-oracle.tsv
-- Output lines: op <tab> a <tab> b <tab> expected, expected being the
-- shortest exact text (trim_scale) or an error name.
\set ON_ERROR_STOP on
select setseed(0.2026) \g /dev/null

create temp table lim as
select 170141183460469231731.687303715884105727::numeric as hi,
	-170141183460469231731.687303715884105728::numeric as lo;

-- 30 random digits per row.
create temp table dig as
select i, lpad(floor(random() * 1e15)::bigint::text, 15, '0') ||
	lpad(floor(random() * 1e15)::bigint::text, 15, '0') as d
from generate_series(1, 6000) i;

-- Parse: [sign] int-digits ['.' frac-digits] [e|E [sign] exp], at least
-- one digit.  Expected: more than 18 places -> EPARSE, then the range.
create temp table ptext as
select i, s || ip || (case when fp is null then '' else '.' || fp end) ||
	(case when ex is null then '' else ex end) as t
from (
	select i,
		(array['', '+', '-'])[1 + floor(random() * 3)::int] as s,
		left(d, floor(random() * 22)::int) as ip,
		case when random() < 0.7 then
			right(d, floor(random() * 24)::int) end as fp,
		case when random() < 0.4 then
			(array['e', 'E'])[1 + floor(random() * 2)::int] ||
			(array['', '+', '-'])[1 + floor(random() * 3)::int] ||
			floor(random() * 46)::int::text end as ex
	from dig where i <= 2000) g
where ip <> '' or coalesce(fp, '') <> '';

select 'parse', t, '',
	case when scale(trim_scale(t::numeric)) > 18 then 'EPARSE'
	when t::numeric > (select hi from lim) or
		t::numeric < (select lo from lim) then 'EOVERFLOW'
	else trim_scale(t::numeric)::text end
from ptext order by i;

-- Operands: 1..30 significant digits, magnitude 1e-17 .. 1e21, at most 18
-- places, in range.
create temp table val as
select i, x from (
	select i, trunc(((array['', '-'])[1 + floor(random() * 2)::int] ||
		'0.' || left(d, 1 + floor(random() * 30)::int) || 'e' ||
		(floor(random() * 39) - 17)::int::text)::numeric, 18) as x
	from dig) g
where x between (select lo from lim) and (select hi from lim);

create temp table pairs as
select a.i, a.x as a, b.x as b
from val a join val b on b.i = a.i + 3000 where a.i <= 3000;

select 'mul', trim_scale(a)::text, trim_scale(b)::text,
	case when r > (select hi from lim) or r < (select lo from lim)
	then 'EOVERFLOW' else trim_scale(r)::text end
from (select i, a, b, round(a * b, 18) as r from pairs where i <= 1500) m
order by i;

-- a / b half away from zero at 10^-18:
-- floor((2|a| 10^18 + |b|) / (2|b|)) x sign x 10^-18.
select 'div', trim_scale(a)::text, trim_scale(b)::text,
	case when r > (select hi from lim) or r < (select lo from lim)
	then 'EOVERFLOW' else trim_scale(r)::text end
from (select i, a, b, sign(a) * sign(b) *
		div(2 * abs(a) * 1e18 + abs(b), 2 * abs(b)) *
		0.000000000000000001 as r
	from pairs where i > 1500 and b <> 0) q
order by i;

select 'round', trim_scale(x)::text, p::text, trim_scale(round(x, p))::text
from (select i, x, (i % 19) as p from val where i <= 1500) r order by i;
