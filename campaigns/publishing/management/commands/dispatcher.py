"""Run the publishing dispatcher: hands due posts of every brand to the django-q2 workers."""

from django.core.management.base import BaseCommand

from campaigns.publishing.dispatcher import Dispatcher


class Command(BaseCommand):
    help = "Hand due posts to the workers at their time and sweep expired claims, until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--idle-poll", type=float, default=None,
                            help="Longest sleep between looks at the queue, in seconds.")

    def handle(self, *args, **options):
        self.stdout.write("Dispatcher running. Ctrl+C stops it.")
        dispatcher = Dispatcher(idle_poll=options["idle_poll"])
        dispatcher.run()
        self.stdout.write(f"Dispatcher stopped after handing over {dispatcher.handed} deliveries.")
