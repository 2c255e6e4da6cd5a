# The playbook (playbooks/provision.yml) reads exactly these outputs; the provider-free
# fixture tests/fixtures/terraform_paperspace_stub/ declares the same names.

output "machine_id" {
  description = "Paperspace machine ID."
  value       = paperspace_machine.gpu.id
}

output "machine_name" {
  description = "Machine name; used as the Ansible inventory hostname."
  value       = paperspace_machine.gpu.name
}

output "machine_type" {
  description = "Paperspace machine type."
  value       = var.machine_type
}

output "region" {
  description = "Paperspace region."
  value       = var.region
}

output "public_ip" {
  description = "Public IPv4 address (ansible_host)."
  value       = paperspace_machine.gpu.public_ip_address
}

output "private_ip" {
  description = "Private IPv4 address."
  value       = paperspace_machine.gpu.private_ip_address
}

output "ssh_user" {
  description = "Login user that holds the installed SSH key (ansible_user)."
  value       = local.ssh_user
}

output "connection" {
  description = "Ansible connection type for the machine."
  value       = "ssh"
}

output "gpu" {
  description = "GPU description reported by Paperspace."
  value       = paperspace_machine.gpu.gpu
}

output "os_image" {
  description = "Image the machine was created from (ubuntu-22.04 or ml-in-a-box)."
  value       = var.os_image
}

output "nvidia_driver_preinstalled" {
  description = "True when the image already carries the NVIDIA driver (ML-in-a-Box)."
  value       = var.os_image == "ml-in-a-box"
}

output "shutdown_timeout_hours" {
  description = "Auto-shutdown timeout in hours."
  value       = var.shutdown_timeout_hours
}
