"""Live updates: NOTIFY events turned into client frames, fanned out to the members who may see them."""
