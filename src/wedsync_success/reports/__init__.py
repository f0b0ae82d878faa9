"""BI and the success team's overview: churn, risk, MRR at risk, milestones."""
