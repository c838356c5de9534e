"""WTForms forms shared by the pages (CSRF comes from Flask-WTF)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from sandbox.roles import ROLES


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名。"), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码。"), Length(max=128)])
    submit = SubmitField("登录")


class CreateUserForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名。"), Length(max=32)])
    display_name = StringField("显示名", validators=[Length(max=64)])
    role = SelectField("角色", choices=[SelectChoice(value, label) for value, label in ROLES.items()])
    password = PasswordField("初始密码", validators=[DataRequired("请输入初始密码。"), Length(max=128)])
    submit = SubmitField("创建用户")
