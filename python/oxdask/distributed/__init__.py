"""The distributed scheduler (in progress): serialization of tasks, results and errors."""
