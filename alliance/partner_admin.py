"""Partner units, alliances and agreements in the admin (district administrators)."""
