"""A/B experiments on drafts: which variant a lead gets (assignment.py) and what the numbers
say (verdict.py). The playbook declares them (agent/playbook/models.py `Experiment`)."""
