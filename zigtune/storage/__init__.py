"""Where things are kept: asset values (IO manager), file artifacts (local or S3) and the content cache."""
