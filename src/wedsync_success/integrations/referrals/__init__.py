"""The referral network: who referred whom (from ``referral_sent`` / ``referral_converted``
activity), per-supplier graph metrics and super-connectors. See docs/referrals.md."""
