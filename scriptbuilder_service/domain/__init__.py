"""Pure rules of the script builder: no I/O, no gRPC, no SQL."""
