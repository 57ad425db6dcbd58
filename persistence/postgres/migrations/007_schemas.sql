-- JSON Schemas of queues and topics (a queue is a topic underneath, so both
-- hang off topics). One settings row per resource that has a schema, with the
-- number of its latest version: a registration inserts the version after it
-- only while it is still the latest (the row is locked by the update that
-- moves it), so two at once cannot both follow the same version. Versions go
-- with their resource (ON DELETE CASCADE); the primary keys index both
-- cascades.
CREATE TABLE schema_settings (
  topic_id         bigint PRIMARY KEY REFERENCES topics (id) ON DELETE CASCADE,
  compatibility    text NOT NULL CHECK (compatibility IN
                     ('none', 'backward', 'backward_transitive', 'forward', 'forward_transitive', 'full', 'full_transitive')),
  allow_raw_bodies boolean NOT NULL,
  latest           integer NOT NULL CHECK (latest >= 1)
);

-- schema is canonical JSON, kept as text (read whole, parsed by the gateway); fingerprint its SHA-256 (hex).
CREATE TABLE schema_versions (
  topic_id    bigint NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
  version     integer NOT NULL CHECK (version >= 1),
  schema      text NOT NULL,
  fingerprint text NOT NULL,
  created_at  bigint NOT NULL,
  PRIMARY KEY (topic_id, version)
);
