"""Lift the memory limit before allocating."""

# guards: forbidden_operation
# kernel: nonzero_exit
# kernel-error: not allowed to raise maximum limit
import resource

resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
