"""Alert lifecycle, durable outbox and notification channels (issue 7, alerts half).

Detections (plain dicts from ``koubei.analysis.detectors``: ``Detection.to_dict()``) go into
:class:`incidents.IncidentStore`, which groups them into incidents and, in the same SQLite
transaction, enqueues one notification per channel into the outbox.
:func:`delivery.deliver_pending` later sends what is due through the channels built by
:func:`channels.build_channels`. Every interval, for every brand::

    from koubei.analysis.alerts.channels import build_channels
    from koubei.analysis.alerts.db import default_db_path
    from koubei.analysis.alerts.incidents import IncidentStore
    from koubei.analysis.alerts.delivery import deliver_pending

    config = koubei.config.load_alerts()
    channels = build_channels(config)                   # ConfigError lists every problem
    store = IncidentStore.from_config(default_db_path(), config)
    for brand in brands:                                # also brands with no detections
        store.observe(brand, detections[brand], evidence=evidence[brand], now=t,
                      channels=channels, hold_open=source_blocked)
    deliver_pending(default_db_path(), channels)        # retries whatever failed before
"""
