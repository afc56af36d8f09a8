# sample.sh - a sample database for backup/restore/check tests (source after lib.sh).
#   pg_sample_db NAME [ROWS]   creates NAME with several schemas, a partitioned table,
#                              large objects, a materialized view, sequences, an RLS table
#                              and non-ASCII data; ROWS scales the big table (default 20000)
#   pg_row_counts DB           prints "schema.table count" for every user table, sorted
pg_sample_db() {
    local db=$1 rows=${2:-20000}
    pg_psql_super -c "create database \"$db\"" >/dev/null || return 1
    pg_psql_super -d "$db" >/dev/null <<SQL || return 1
create schema sales;
create schema hr;
create table public.customers(id bigserial primary key, name text not null, email text,
  note text, created timestamptz default now());
insert into public.customers(name, email, note)
  select 'customer ' || g, 'c' || g || '@example.com',
         case when g % 7 = 0 then E'multi\nline\ttab \\\\ backslash' when g % 11 = 0 then 'Ünïcödé ✓ 日本語' end
  from generate_series(1, $rows) g;
create table sales.orders(id bigint, placed date not null, customer bigint, total numeric(12,2))
  partition by range (placed);
create table sales.orders_2025 partition of sales.orders for values from ('2025-01-01') to ('2026-01-01');
create table sales.orders_2026 partition of sales.orders for values from ('2026-01-01') to ('2027-01-01');
insert into sales.orders select g, date '2025-06-01' + (g % 400), 1 + g % $rows, g * 1.25
  from generate_series(1, $rows * 2) g;
create sequence sales.invoice_no start 1000;
select nextval('sales.invoice_no') from generate_series(1, 5);
create materialized view sales.daily as select placed, count(*) n, sum(total) t from sales.orders group by 1;
create table hr.salaries(emp text, amount int, dept text);
insert into hr.salaries values ('ann', 100, 'a'), ('bob', 200, 'b'), ('cid', 300, 'a');
alter table hr.salaries enable row level security;
create policy dept_a on hr.salaries using (dept = 'a');
create table public.empty_table(x int);
create table public.blobs(id int, data oid);
insert into public.blobs values (1, lo_from_bytea(0, convert_to(repeat('large object ', 1000), 'UTF8')));
insert into public.blobs values (2, lo_from_bytea(0, '\\x00ff00ff'::bytea));
SQL
}

pg_row_counts() {
    local db=$1
    pg_psql_super -d "$db" -F ' ' <<'SQL'
select format('%s.%s %s', n.nspname, c.relname,
  (xpath('/row/c/text()', query_to_xml(format('select count(*) as c from %I.%I', n.nspname, c.relname), false, true, '')))[1]::text)
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where c.relkind = 'r' and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'
order by 1;
select 'largeobjects ' || count(*) from pg_largeobject_metadata;
SQL
}
