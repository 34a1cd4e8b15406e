from django.contrib.auth import views as auth_views
from django.urls import path

from agency.portal import views
from campaigns.publishing import portal_views
from tenants.forms import PortalLoginForm

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(
        template_name="portal/login.html", authentication_form=PortalLoginForm,
        redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(
        template_name="portal/password_reset_done.html"), name="password_reset_done"),
    path("password/set/<uidb64>/<token>/", views.PasswordSetView.as_view(),
         name="password_reset_confirm"),
    path("password/set/done/", auth_views.PasswordResetCompleteView.as_view(
        template_name="portal/password_set_done.html"), name="password_reset_complete"),
    path("clients/new/", views.client_create, name="client_create"),
    path("clients/brand-colours.css", views.brand_colours_css, name="brand_colours_css"),
    path("clients/<slug:slug>/", views.client_detail, name="client_detail"),
    path("clients/<slug:slug>/edit/", views.client_edit, name="client_edit"),
    path("clients/<slug:slug>/logo/", views.client_logo, name="client_logo"),
    path("clients/<slug:slug>/members/add/", views.member_add, name="member_add"),
    path("clients/<slug:slug>/members/<int:user_id>/role/", views.member_role,
         name="member_role"),
    path("clients/<slug:slug>/members/<int:user_id>/remove/", views.member_remove,
         name="member_remove"),
    path("clients/<slug:slug>/archive/", views.client_archive, name="client_archive"),
    path("clients/<slug:slug>/restore/", views.client_restore, name="client_restore"),
    path("clients/<slug:slug>/delete/", views.client_delete, name="client_delete"),
    path("results/", views.results_overview, name="results_overview"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("api-keys/<int:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("crisis-holds/", portal_views.holds_view, name="crisis_holds"),
    path("crisis-holds/<int:hold_id>/release/", portal_views.release_view,
         name="crisis_release"),
]
