CREATE ROLE app;
ALTER ROLE app SET search_path TO '$user', 'public';
ALTER ROLE app IN DATABASE d SET "x.y" TO 'a';
ALTER ROLE app SET role = 'postgres';
