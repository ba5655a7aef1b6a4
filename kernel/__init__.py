"""The platform's shared kernel: event envelope and contract, transactional
outbox and relay, idempotent retrying consumers, configuration and databases.

Everything here is framework-light; nameko appears only in the extensions that
plug the kernel into a service container (`db.Database`, `outbox.OutboxRelay`,
`consumer.event_handler`).
"""

import warnings

# Import-time notices of eventlet and of nameko's pkg_resources use, printed by
# every command otherwise; they say nothing an operator can act on.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
