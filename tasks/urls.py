from django.urls import path

from . import views

urlpatterns = [
    path("generate_audio_enhanced_async", views.GenerateAsyncView.as_view()),
    path("get_task_status/<str:step_id>", views.TaskStatusView.as_view()),
    path("download_result/<str:step_id>", views.DownloadResultView.as_view()),
    path("stop_generation", views.StopAllView.as_view()),
    path("stop_async_task/<str:step_id>", views.StopTaskView.as_view()),
]
