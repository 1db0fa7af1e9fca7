"""The Textual front end. Imported only when the terminal UI is used."""
