from django.contrib import admin
from django.urls import path
from greetings import views

urlpatterns = [
    path("", views.home, name="home"),
    path("admin/", admin.site.urls),
    path("boom/", views.boom, name="boom"),  # raises: a traceback to look at
]
