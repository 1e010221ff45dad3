-- The cases the edge heard come onto the scale with each weight's pallet: with the
-- weight check, the evidence of which cases a light pallet lacks.
ALTER TABLE weights ADD COLUMN cases text[] NOT NULL DEFAULT '{}';
COMMENT ON COLUMN weights.cases IS
    'SGTIN-96 EPCs (hex) of the cases heard coming onto the platform with the load';
