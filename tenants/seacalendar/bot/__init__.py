"""The SeaCalendar Discord bot: a separate process that reaches data through the database only."""
