"""The core: errors, directions, values, Results, settings and statistics; it imports no other layer."""
