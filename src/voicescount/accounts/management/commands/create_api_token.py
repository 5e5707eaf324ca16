from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from voicescount.accounts.services import create_api_token


class Command(BaseCommand):
    help = "Create an API token for a user and print it once (only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="API", help="What the token is for.")

    def handle(self, *args, username, name, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user is called {username!r}.")
        _, secret = create_api_token(user, name)
        self.stdout.write(secret)
