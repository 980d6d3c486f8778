-- Set by an administrator's password reset: login answers
-- `password_change_required` until the user chooses a new password.
ALTER TABLE users ADD COLUMN must_change_password BIGINT NOT NULL DEFAULT 0;
