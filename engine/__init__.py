"""zhitongche engine: deploy, run and persist BPMN processes. Imports no web framework."""
