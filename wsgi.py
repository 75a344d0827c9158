from connector.web import create_app

app = create_app()
