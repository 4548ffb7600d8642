from yidi_stack.cli import app

app()
