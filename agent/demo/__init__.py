"""Demo data: made-up but realistic B2B leads and event timelines that exercise every rule of the
default playbook (see `agent.demo.generator`)."""
