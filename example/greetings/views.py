from django.contrib import messages
from django.shortcuts import redirect, render
from django_tasks_db.models import DBTaskResult

from .forms import GreetForm
from .tasks import greet

PENDING_STATUSES = {"READY", "RUNNING"}


def home(request):
    if request.method == "POST":
        form = GreetForm(request.POST)
        if form.is_valid():
            name = form.cleaned_data["name"]
            result = greet.enqueue(name=name)
            messages.success(request, f"Queued greet(name={name!r}) as task {result.id}.")
            return redirect("home")
    else:
        form = GreetForm()

    recent = list(
        DBTaskResult.objects.filter(task_path=greet.module_path).order_by("-enqueued_at")[:10]
    )
    rows = [
        {
            "id": str(db_result.id),
            "name": db_result.args_kwargs.get("kwargs", {}).get("name", ""),
            "status": db_result.status,
            "result": db_result.return_value,
            "error": db_result.exception_class_path,
            "enqueued_at": db_result.enqueued_at,
            "finished_at": db_result.finished_at,
        }
        for db_result in recent
    ]
    return render(
        request,
        "greetings/home.html",
        {
            "form": form,
            "rows": rows,
            # Reload the page while something is still queued or running.
            "refresh": any(row["status"] in PENDING_STATUSES for row in rows),
        },
    )


def boom(request):
    """Raises, on purpose: /boom/ shows what a traceback looks like in tuirunner (jump to it
    with [ and ], open its file with E; README, "Reading the output")."""
    raise ValueError("boom: this view raises on purpose")
