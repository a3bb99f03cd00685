-- SQL-level fuzzing of the model decoder: thousands of deterministic
-- mutations of valid models (bit flips, truncations, extensions, swapped
-- sections, forged lengths, counts and dimensions) go through
-- dlfin_model_info and dlfin_predict.  Each one is either a valid model or
-- rejected with 22P03; a model that decodes may still be refused by
-- dlfin_predict for its arguments (22023 feature count, 42804 types).
-- Half of the mutants are re-signed (total length and CRC-32 recomputed
-- in plpgsql below), so they get past the checksum into the sections.
-- The server must stay up: scripts/test also checks its log for crashes.
BEGIN;
SELECT plan(9);

CREATE SCHEMA fz;

-- Deterministic generator (31-bit LCG, state in a transaction-local
-- setting): no dependence on random() or on the platform.
SELECT set_config('fz.seed', '20240607', true);
CREATE FUNCTION fz.rand(n int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE st bigint := current_setting('fz.seed')::bigint;
BEGIN
  st := (st * 1103515245 + 12345) % 2147483648;
  PERFORM set_config('fz.seed', st::text, true);
  RETURN ((st >> 8) % n)::int;
END $$;

-- CRC-32 (IEEE, reflected, as zlib) of bytes [from, end) of b.
CREATE TABLE fz.crc_table (i int PRIMARY KEY, v bigint);
INSERT INTO fz.crc_table
SELECT i, (WITH RECURSIVE r(k, c) AS (
             SELECT 0, i::bigint
             UNION ALL
             SELECT k + 1, CASE WHEN c & 1 = 1 THEN (c >> 1) # 3988292384 ELSE c >> 1 END
             FROM r WHERE k < 8)
           SELECT c FROM r WHERE k = 8)
FROM generate_series(0, 255) i;
CREATE FUNCTION fz.crc32(b bytea, "from" int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  t bigint[] := (SELECT array_agg(v ORDER BY i) FROM fz.crc_table);
  c bigint := 4294967295;
BEGIN
  FOR k IN "from" .. length(b) - 1 LOOP
    c := t[((c # get_byte(b, k)) & 255) + 1] # (c >> 8);
  END LOOP;
  RETURN c # 4294967295;
END $$;

CREATE FUNCTION fz.put32(b bytea, off int, v bigint) RETURNS bytea LANGUAGE sql AS $$
  SELECT set_byte(set_byte(set_byte(set_byte(b, off, (v & 255)::int),
         off + 1, ((v >> 8) & 255)::int), off + 2, ((v >> 16) & 255)::int),
         off + 3, ((v >> 24) & 255)::int)
$$;
CREATE FUNCTION fz.get32(b bytea, off int) RETURNS bigint LANGUAGE sql AS $$
  SELECT get_byte(b, off)::bigint | (get_byte(b, off + 1)::bigint << 8)
       | (get_byte(b, off + 2)::bigint << 16) | (get_byte(b, off + 3)::bigint << 24)
$$;
-- Recomputes the header's total length and checksum.
CREATE FUNCTION fz.resign(b bytea) RETURNS bytea LANGUAGE sql AS $$
  SELECT CASE WHEN length(b) < 20 THEN b
         ELSE fz.put32(fz.put32(b, 12, length(b)), 16, fz.crc32(b, 20)) END
$$;

-- Section boundaries: (tag, start of the section header, payload length).
CREATE FUNCTION fz.sections(b bytea) RETURNS TABLE (tag int, start int, len int)
LANGUAGE plpgsql AS $$
DECLARE p int := 20;
BEGIN
  WHILE p + 6 <= length(b) LOOP
    tag := get_byte(b, p) | (get_byte(b, p + 1) << 8);
    start := p;
    len := fz.get32(b, p + 2)::int;
    RETURN NEXT;
    p := p + 6 + len;
  END LOOP;
END $$;

-- An "interesting" 32-bit value for forged counts and lengths.
CREATE FUNCTION fz.forged(orig bigint) RETURNS bigint LANGUAGE sql AS $$
  SELECT (ARRAY[0, 1, 2, 3, 255, 256, 1023, 1024, 1025, 4096, 4097, 65535, 65536,
                65537, 33554432, 2147483647, 2147483648, 4294967295,
                greatest(orig - 1, 0), orig + 1, orig * 2, orig + 65536])[1 + fz.rand(22)]
$$;

-- One mutant of m, by kind.
CREATE FUNCTION fz.mutate(m bytea, kind int) RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE
  b bytea := m;
  n int := length(m);
  pos int;
  a record;
  c record;
BEGIN
  CASE kind
  WHEN 0 THEN                                   -- 1 to 8 bit flips
    FOR k IN 0 .. fz.rand(8) LOOP
      pos := fz.rand(n * 8);
      b := set_bit(b, pos, 1 - get_bit(b, pos));
    END LOOP;
  WHEN 1 THEN                                   -- truncation
    b := substr(m, 1, fz.rand(n));
  WHEN 2 THEN                                   -- extension
    b := m || substr(m, 1 + fz.rand(n), 1 + fz.rand(64));
  WHEN 3 THEN                                   -- a random byte overwritten
    b := set_byte(m, fz.rand(n), fz.rand(256));
  WHEN 4 THEN                                   -- a forged u32 anywhere
    pos := fz.rand(n - 3);
    b := fz.put32(m, pos, fz.forged(fz.get32(m, pos)));
  WHEN 5 THEN                                   -- a forged section length
    SELECT * INTO a FROM fz.sections(m) s ORDER BY s.start OFFSET fz.rand(10) LIMIT 1;
    b := fz.put32(m, a.start + 2, fz.forged(a.len));
  WHEN 6 THEN                                   -- a forged count or dimension at
                                                -- the start of a section
    SELECT * INTO a FROM fz.sections(m) s ORDER BY s.start OFFSET 1 + fz.rand(9) LIMIT 1;
    IF a.len >= 4 THEN
      b := fz.put32(m, a.start + 6, fz.forged(fz.get32(m, a.start + 6)));
    END IF;
  WHEN 7 THEN                                   -- a forged u32 inside NETWORK
                                                -- (nlayers and units come first)
    SELECT * INTO a FROM fz.sections(m) s WHERE s.tag = 5;
    pos := a.start + 6 + 4 * fz.rand(4);
    b := fz.put32(m, pos, fz.forged(fz.get32(m, pos)));
  WHEN 8 THEN                                   -- two sections swapped
    pos := fz.rand(9);
    SELECT * INTO a FROM fz.sections(m) s ORDER BY s.start OFFSET pos LIMIT 1;
    SELECT * INTO c FROM fz.sections(m) s ORDER BY s.start OFFSET pos + 1 LIMIT 1;
    b := substr(m, 1, a.start)
         || substr(m, c.start + 1, c.len + 6)
         || substr(m, a.start + 1, a.len + 6)
         || substr(m, c.start + c.len + 7);
  WHEN 9 THEN                                   -- a section dropped or doubled
    SELECT * INTO a FROM fz.sections(m) s ORDER BY s.start OFFSET fz.rand(10) LIMIT 1;
    IF fz.rand(2) = 0 THEN
      b := substr(m, 1, a.start) || substr(m, a.start + a.len + 7);
    ELSE
      b := substr(m, 1, a.start + a.len + 6) || substr(m, a.start + 1);
    END IF;
  END CASE;
  RETURN b;
END $$;

-- Valid models of every task; the feature lists match the probe below.
CREATE TABLE fz.d AS
SELECT i, (i % 3 = 0) AS y, (i % 7)::float8 AS x, (ARRAY['a', 'b', 'c', 'd'])[1 + i % 4] AS c,
       (ARRAY['u', 'v', 'w'])[1 + i % 3] AS k
FROM generate_series(1, 120) i;
CREATE TABLE fz.models (name text, m bytea);
INSERT INTO fz.models
SELECT 'binary', dlfin_train('{"epochs": 1, "hidden": [3]}', y, x, c) FROM fz.d
UNION ALL
SELECT 'multiclass', dlfin_train('{"epochs": 1, "hidden": [2, 2], "validation_fraction": 0.2}', k, x, c) FROM fz.d
UNION ALL
SELECT 'regression', dlfin_train('{"epochs": 1, "hidden": []}', x * 2 + 1, x, c) FROM fz.d;

-- Outcomes: one row per mutant.
CREATE TABLE fz.outcome (model text, kind int, resigned bool, changed bool, info text, predict text);

CREATE FUNCTION fz.try_info(b bytea) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  PERFORM dlfin_model_info(b);
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE;
END $$;
CREATE FUNCTION fz.try_predict(b bytea) RETURNS text LANGUAGE plpgsql AS $$
DECLARE p float8;
BEGIN
  p := dlfin_predict(b, 3.5, 'b');
  p := dlfin_predict(b, NULL::float8, 'unseen');
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE;
END $$;

CREATE FUNCTION fz.run(per_kind int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  r record;
  b bytea;
  rs bool;
BEGIN
  FOR r IN SELECT name, m FROM fz.models ORDER BY name LOOP
    FOR kind IN 0 .. 9 LOOP
      FOR j IN 1 .. per_kind LOOP
        b := fz.mutate(r.m, kind);
        -- plain mutants mostly stop at the header; re-signed ones get deeper
        rs := kind >= 5 OR j % 2 = 0;
        IF rs THEN
          b := fz.resign(b);
        END IF;
        INSERT INTO fz.outcome VALUES (r.name, kind, rs, b <> r.m, fz.try_info(b), fz.try_predict(b));
      END LOOP;
    END LOOP;
  END LOOP;
END $$;

SELECT fz.run(200);    -- 3 models x 10 kinds x 200 = 6000 mutants

SELECT is((SELECT count(*) FROM fz.outcome), 6000::bigint, '6000 mutants were tried');
SELECT is((SELECT count(*) FROM fz.outcome WHERE info NOT IN ('ok', '22P03')), 0::bigint,
          'dlfin_model_info: every mutant is valid or 22P03');
SELECT is((SELECT count(*) FROM fz.outcome WHERE info = '22P03' AND predict <> '22P03'), 0::bigint,
          'dlfin_predict rejects with 22P03 what dlfin_model_info rejects');
-- a mutated weight or scale may make the row overflow the network: 22003
SELECT is((SELECT count(*) FROM fz.outcome WHERE info = 'ok' AND predict NOT IN ('ok', '22023', '42804', '22003')), 0::bigint,
          'dlfin_predict: a decodable mutant scores, overflows (22003) or is refused for its arguments');
SELECT cmp_ok((SELECT count(*) FROM fz.outcome WHERE resigned AND info = '22P03'), '>', 1000::bigint,
              're-signed mutants reach the section checks');
-- the mutants that decode are the harmless ones (e.g. a flipped weight bit)
SELECT cmp_ok((SELECT count(*) FROM fz.outcome WHERE info = 'ok'), '>', 0::bigint,
              'some mutants are still valid models');
SELECT is((SELECT count(*) FROM fz.outcome o WHERE kind = 8 AND info = 'ok'), 0::bigint,
          'swapped sections are always rejected');
SELECT is((SELECT string_agg(DISTINCT info, ',' ORDER BY info) FROM fz.outcome WHERE NOT resigned AND changed), '22P03'::text,
          'plain mutants (checksum not fixed) are all 22P03');

-- the session is still healthy and the original models still score
SELECT is((SELECT count(*) FROM fz.models WHERE dlfin_predict(m, 3.5, 'b') IS NOT NULL), 3::bigint,
          'the original models still score after the fuzzing');

SELECT * FROM finish();
ROLLBACK;
