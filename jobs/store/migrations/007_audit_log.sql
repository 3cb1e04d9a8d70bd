-- One row per operator action (sign-in, sign-out, a refused sign-in; later silences and test notifications):
-- who, what, when. Written by the web beside the same line in its log; never updated or deleted by the product.
CREATE TABLE audit_log (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      timestamptz NOT NULL,
    actor   text NOT NULL,  -- the operator (e-mail or basic-auth name), or '-' when nobody signed in
    action  text NOT NULL,  -- e.g. 'sign-in', 'sign-out', 'sign-in refused'
    detail  text NOT NULL DEFAULT ''
);

CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC);
