"""The Hypothesis side of gradcert: strategies, properties, comparison, runner, CLI and pytest plugin."""
