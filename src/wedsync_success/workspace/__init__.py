"""The success team's own work on accounts: notes on a supplier and account alert snoozes.

Account owners live on ``suppliers.account_owner_id`` and tasks in ``interventions`` (the
playbooks' task channel makes them); this room holds what only the team writes.
"""
