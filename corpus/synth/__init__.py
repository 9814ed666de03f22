"""Model-in-the-loop math data: `sciloom synth KIND` and `kind = "synth"` recipe sources (docs/synth.md)."""
