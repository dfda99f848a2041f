"""Every derived state checked against its source of truth (``pulse verify``) and repaired from it
(``pulse rebuild``), while the workers run, under the locks they take themselves."""
