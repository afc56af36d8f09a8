select count(*) from public.t;
