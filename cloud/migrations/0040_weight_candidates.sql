-- Which pallet a weight was: the edge names the pallets its scale's read point heard
-- that may be on the platform, likeliest first (candidates); the cloud weighs the
-- first of them that awaits a weight check and keeps in epc the pallet it weighed,
-- the edge's own choice in edge_epc when it chose another.
ALTER TABLE weights
    ADD COLUMN candidates text[] NOT NULL DEFAULT '{}',
    ADD COLUMN edge_epc   text;
COMMENT ON COLUMN weights.candidates IS
    'SSCC-96 EPCs (hex) the edge heard that may be the pallet weighed, likeliest first';
COMMENT ON COLUMN weights.edge_epc IS
    'The pallet the edge named when the cloud found another candidate awaiting its weight';
