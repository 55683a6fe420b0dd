-- sqlite.sql: run by sqlite.sh through the sqlite3 shell, with and without
-- memgc; every result here is deterministic.
.bail on
PRAGMA journal_mode = WAL;
CREATE TABLE item (id INTEGER PRIMARY KEY, grp INTEGER, name TEXT, val REAL, blob BLOB);
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 100000)
INSERT INTO item (grp, name, val, blob)
	SELECT n % 97, printf('name-%06d-%s', (n * 7919) % 100000, substr('abcdefghij', 1 + n % 10)),
	       (n * 31 % 1000) / 7.0, zeroblob(n % 50)
	FROM seq;
CREATE INDEX item_grp ON item (grp, val);
CREATE INDEX item_name ON item (name);
CREATE TABLE grp AS SELECT grp, count(*) AS n, sum(val) AS total FROM item GROUP BY grp;
SELECT count(*), sum(length(blob)), min(name), max(name) FROM item;
SELECT grp, n, printf('%.3f', total) FROM grp ORDER BY total DESC LIMIT 5;
SELECT grp, count(*), printf('%.4f', avg(val)), max(length(name)) FROM item
	WHERE grp IN (3, 14, 15, 92) GROUP BY grp ORDER BY grp;
SELECT name FROM item WHERE name LIKE 'name-01234%' ORDER BY name;
SELECT group_concat(id, ',') FROM (SELECT id FROM item WHERE grp = 42 ORDER BY val DESC, id LIMIT 12);
UPDATE item SET val = val * 2 WHERE grp % 2 = 0;
DELETE FROM item WHERE id % 5 = 0;
SELECT count(*), printf('%.2f', sum(val)) FROM item;
SELECT a.grp, count(*) FROM item a JOIN grp g ON a.grp = g.grp AND g.n > 1030 GROUP BY a.grp ORDER BY a.grp LIMIT 6;
SELECT upper(name), length(group_concat(id)) FROM item WHERE grp = 7 GROUP BY name ORDER BY name LIMIT 3;
WITH RECURSIVE fib(a, b, k) AS (SELECT 0, 1, 0 UNION ALL SELECT b, a + b, k + 1 FROM fib WHERE k < 80)
SELECT max(a) FROM fib;
VACUUM;
PRAGMA integrity_check;
SELECT count(*) FROM item INDEXED BY item_name WHERE name > 'name-05';
