import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { PasswordHasher } from '../auth/password-hasher.js';
import { SessionsService } from '../auth/sessions.service.js';
import type { AuthUser } from '../auth/current-user.decorator.js';
import { CursorCodec } from '../common/pagination/cursor-codec.js';
import { pageRequest, parseOrdering } from '../common/pagination/keyset-query.js';
import { mapPage, type PageDto, pageOf } from '../common/pagination/page.dto.js';
import { SearchGate } from '../common/search-gate.js';
import { type ListUsersDto, USER_DEFAULT_ORDERING } from '../users/dto/list-users.dto.js';
import type { CreateUserDto } from './dto/create-user.dto.js';
import type { UpdateUserDto } from '../users/dto/update-user.dto.js';
import { type AdminUserDto, toAdminUserDto } from '../users/dto/user-response.dto.js';
import { type UserFilter, UsersRepository } from '../users/users.repository.js';
import { UsersService } from '../users/users.service.js';

/** Accounts as the staff console manages them: list, read, (de)activate, change role. */
@Injectable()
export class AdminUsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly sessions: SessionsService,
    private readonly cursors: CursorCodec,
    private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly searches: SearchGate,
    private readonly accounts: UsersService,
    private readonly hasher: PasswordHasher,
  ) {}

  /**
   * An account made by an admin: registration's rules (the DTO checked the
   * password against them), the role asked for, and its audit event in the
   * same transaction; a taken username or email (any case) is 409.
   */
  async create(dto: CreateUserDto): Promise<AdminUserDto> {
    // Hashed in the line of the new account's name, as registration does (PASSWORD_HASH_PER_ACCOUNT).
    const passwordHash = await this.hasher.hash(dto.password, `admin-create:${dto.username.toLowerCase()}`);
    return this.dataSource.transaction(async (manager) => {
      const user = await this.accounts.create({ username: dto.username, email: dto.email, passwordHash, role: dto.role ?? 'user' }, manager);
      await this.audit.record({ action: 'create', resourceType: 'user', resourceId: user.id, status: 201 }, manager);
      return toAdminUserDto(user);
    });
  }

  /** A search follows the patient and doctor lists' rules: its terms (400, prefix or substring), its timeout, the caller's concurrent searches (429 beyond). */
  async list(caller: AuthUser, query: ListUsersDto, url: URL): Promise<PageDto<AdminUserDto>> {
    const ordering = parseOrdering(query.ordering, this.users.sortFields, USER_DEFAULT_ORDERING);
    const page = pageRequest(query, ordering, this.cursors, 'users', caller);
    // An empty search is no search.
    const filter: UserFilter = { search: query.search || undefined, role: query.role, isActive: query.is_active };
    const rows = await this.searches.list(caller.id, filter.search, () => this.users.listPage(filter, page));
    return mapPage(pageOf(rows, page, url, this.cursors), toAdminUserDto);
  }

  async get(id: string): Promise<AdminUserDto> {
    const user = await this.users.findById(id);
    if (!user) throw new NotFoundException('User not found.');
    return toAdminUserDto(user);
  }

  /**
   * Changes is_active and/or role in one transaction. The active admins are
   * locked first (SELECT ... FOR UPDATE), so two admins demoting each other
   * at the same moment cannot leave the system without one: the second waits,
   * then sees the first's change and gets 409. Deactivation ends every
   * session of the user in the same transaction; their access tokens stop
   * working within the guard's session cache time.
   */
  async update(id: string, dto: UpdateUserDto): Promise<AdminUserDto> {
    return this.dataSource.transaction(async (manager) => {
      const admins = await this.users.findActiveAdminIdsForUpdate(manager);
      const user = await this.users.findByIdForUpdate(id, manager);
      if (!user) throw new NotFoundException('User not found.');

      const isActive = dto.is_active ?? user.isActive;
      const role = dto.role ?? user.role;
      const wasActiveAdmin = admins.includes(id);
      const staysActiveAdmin = isActive && role === 'admin';
      if (wasActiveAdmin && !staysActiveAdmin && admins.length === 1) {
        throw new ConflictException('This is the last active admin: make another user an admin first.');
      }
      if (isActive !== user.isActive || role !== user.role) {
        await this.users.updateStatus(id, { isActive, role }, manager);
        user.isActive = isActive;
        user.role = role;
      }
      if (!isActive) await this.sessions.revokeAll(id, manager);
      const changed = [dto.is_active !== undefined && `is_active=${isActive}`, dto.role !== undefined && `role=${role}`];
      await this.audit.record(
        {
          action: 'user_changed',
          resourceType: 'user',
          resourceId: id,
          status: 200,
          reason: changed.filter(Boolean).join(',') || null,
        },
        manager,
      );
      return toAdminUserDto(user);
    });
  }
}
