"""Business logic: plain arguments in, domain errors out; never reads request or g."""
