"""Operations around the render core: site settings, run directories, Slurm and local submission, status,
locks, cleaning and container builds. The render core (``bpgen.render`` and what it imports) never needs them,
except ``envfile`` to read environment.sh."""
