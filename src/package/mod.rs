//! Building and packaging the Lambda bootstraps (in progress).
