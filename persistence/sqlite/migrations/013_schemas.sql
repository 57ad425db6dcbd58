-- JSON Schemas of queues and topics (a queue is a topic underneath, so both
-- hang off topics). One settings row per resource that has a schema, with the
-- number of its latest version: a registration inserts the version after it
-- only while it is still the latest, so two at once cannot both follow the
-- same version. Versions go with their resource (ON DELETE CASCADE).
CREATE TABLE schema_settings (
  topic_id         INTEGER PRIMARY KEY REFERENCES topics (id) ON DELETE CASCADE,
  compatibility    TEXT NOT NULL CHECK (compatibility IN
                     ('none', 'backward', 'backward_transitive', 'forward', 'forward_transitive', 'full', 'full_transitive')),
  allow_raw_bodies INTEGER NOT NULL CHECK (allow_raw_bodies IN (0, 1)),
  latest           INTEGER NOT NULL CHECK (latest >= 1)
) STRICT;

-- schema is canonical JSON; fingerprint its SHA-256 (hex).
CREATE TABLE schema_versions (
  topic_id    INTEGER NOT NULL REFERENCES topics (id) ON DELETE CASCADE,
  version     INTEGER NOT NULL CHECK (version >= 1),
  schema      TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (topic_id, version)
) STRICT, WITHOUT ROWID;
