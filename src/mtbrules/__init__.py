"""mtbrules: policy as code for China's outpatient chronic and special disease insurance."""
