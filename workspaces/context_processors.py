def current_workspace(request):
    return {"workspace": getattr(request, "workspace", None)}
