"""Ways to fill the catalog with real tracks: table import (and, later, the collectors)."""
