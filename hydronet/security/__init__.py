"""Authentication, authorisation, passwords, tokens and rate-limit keys."""
