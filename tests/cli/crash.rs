use crate::env::TestEnv;
