-- What the edges concluded from the reads: door passages, zone events, stable weights
-- (kept: no retention), and the place of every tag those events give.
--
-- Each event row names the batch it came in ((edge_id, spool, seq) and its index in
-- the batch), so the exactly-once claim of the batch in ingested_batches covers it.
-- stored_at is the cloud's clock when the row was stored (the simulated clock in a
-- scored run): event latency is stored_at - time.

CREATE TABLE passages (
    id          bigserial   PRIMARY KEY,
    time        timestamptz NOT NULL,
    door        text        NOT NULL,
    direction   text        NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    epc         text        NOT NULL,
    cases       text[]      NOT NULL DEFAULT '{}',
    confidence  real        NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    evidence    jsonb       NOT NULL,
    edge_id     text        NOT NULL,
    spool       text        NOT NULL,
    seq         bigint      NOT NULL,
    idx         integer     NOT NULL,
    stored_at   timestamptz NOT NULL,
    UNIQUE (edge_id, spool, seq, idx)
);
CREATE INDEX passages_time_idx ON passages (time, id);
CREATE INDEX passages_door_time_idx ON passages (door, time, id);
CREATE INDEX passages_epc_time_idx ON passages (epc, time DESC);
CREATE INDEX passages_cases_idx ON passages USING gin (cases);
COMMENT ON TABLE passages IS
    'Door crossings: time is when the tag crossed the door''s middle; cases crossed with the pallet epc.';

CREATE TABLE zone_events (
    id          bigserial   PRIMARY KEY,
    time        timestamptz NOT NULL,
    kind        text        NOT NULL
        CHECK (kind IN ('arrived', 'moved', 'departed', 'unknown', 'present')),
    epc         text        NOT NULL,
    zone        text        NOT NULL,
    from_zone   text,
    edge_id     text        NOT NULL,
    spool       text        NOT NULL,
    seq         bigint      NOT NULL,
    idx         integer     NOT NULL,
    stored_at   timestamptz NOT NULL,
    UNIQUE (edge_id, spool, seq, idx)
);
CREATE INDEX zone_events_time_idx ON zone_events (time, id);
CREATE INDEX zone_events_epc_time_idx ON zone_events (epc, time, id);
CREATE INDEX zone_events_zone_time_idx ON zone_events (zone, time, id);

CREATE TABLE weights (
    id          bigserial   PRIMARY KEY,
    time        timestamptz NOT NULL,
    scale       text        NOT NULL,
    weight_kg   double precision NOT NULL,
    epc         text,
    edge_id     text        NOT NULL,
    spool       text        NOT NULL,
    seq         bigint      NOT NULL,
    idx         integer     NOT NULL,
    stored_at   timestamptz NOT NULL,
    UNIQUE (edge_id, spool, seq, idx)
);
CREATE INDEX weights_time_idx ON weights (time, id);
CREATE INDEX weights_epc_time_idx ON weights (epc, time DESC) WHERE epc IS NOT NULL;

CREATE TABLE tag_places (
    epc         text        PRIMARY KEY,
    state       text        NOT NULL
        CHECK (state IN ('present', 'departed', 'unknown', 'received', 'shipped')),
    zone        text,
    last_zone   text,
    door        text,
    pallet      text,
    changed_at  timestamptz NOT NULL,
    stored_at   timestamptz NOT NULL
);
CREATE INDEX tag_places_zone_idx ON tag_places (zone) WHERE zone IS NOT NULL;
CREATE INDEX tag_places_pallet_idx ON tag_places (pallet) WHERE pallet IS NOT NULL;
COMMENT ON TABLE tag_places IS
    'Where each tag is by the edges'' events: in a zone (present), gone from it (departed), '
    'unknown (its zone''s readers are out), received or shipped through a door; '
    'pallet: for a case, the pallet it crossed a door with.';

ALTER TABLE ingested_batches ADD COLUMN kind text NOT NULL DEFAULT 'observations';
COMMENT ON COLUMN ingested_batches.kind IS 'observations or events: what the batch carried';
COMMENT ON COLUMN ingested_batches.observations IS 'observations or events in the batch';
