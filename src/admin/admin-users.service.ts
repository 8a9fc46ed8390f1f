import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { DataSource, type Repository } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { SessionsService } from '../auth/sessions.service.js';
import { CursorCodec, keysetPage, type PageDto, pageRequest, parseOrdering, type SortField } from '../common/pagination.js';
import { likeContains } from '../common/sql.js';
import type { AuthUser } from '../auth/current-user.decorator.js';
import type { ListUsersDto } from '../users/dto/list-users.dto.js';
import type { UpdateUserDto } from '../users/dto/update-user.dto.js';
import { type AdminUserDto, toAdminUserDto } from '../users/dto/user-response.dto.js';
import { User } from '../users/user.entity.js';

const ORDER_FIELDS: Record<string, SortField> = {
  username: { column: 'username', property: 'username', kind: 'string' },
  date_joined: { column: 'date_joined', property: 'dateJoined', kind: 'date' },
};

/** Accounts as the staff console manages them: list, read, (de)activate, change role. */
@Injectable()
export class AdminUsersService {
  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    private readonly sessions: SessionsService,
    private readonly cursors: CursorCodec,
    private readonly dataSource: DataSource,
    private readonly audit: AuditService,
  ) {}

  async list(caller: AuthUser, query: ListUsersDto, url: URL): Promise<PageDto<AdminUserDto>> {
    const page = pageRequest(query, parseOrdering(query.ordering, ORDER_FIELDS, 'username'), this.cursors, 'users', caller);
    const qb = this.users.createQueryBuilder('u');
    if (query.search) {
      qb.andWhere('(u.username ILIKE :search OR u.email ILIKE :search)', { search: likeContains(query.search) });
    }
    if (query.role) qb.andWhere('u.role = :role', { role: query.role });
    if (query.is_active !== undefined) qb.andWhere('u.is_active = :active', { active: query.is_active });
    const result = await keysetPage(qb, 'u', page, this.cursors, url);
    return { ...result, results: result.results.map(toAdminUserDto) };
  }

  async get(id: string): Promise<AdminUserDto> {
    const user = await this.users.findOne({ where: { id } });
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
      const admins: Array<{ id: string }> = await manager.query(
        `SELECT id FROM users WHERE role = 'admin' AND is_active ORDER BY id FOR UPDATE`,
      );
      const user = await manager.findOne(User, { where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!user) throw new NotFoundException('User not found.');

      const isActive = dto.is_active ?? user.isActive;
      const role = dto.role ?? user.role;
      const wasActiveAdmin = admins.some((a) => a.id === id);
      const staysActiveAdmin = isActive && role === 'admin';
      if (wasActiveAdmin && !staysActiveAdmin && admins.length === 1) {
        throw new ConflictException('This is the last active admin: make another user an admin first.');
      }
      if (isActive !== user.isActive || role !== user.role) {
        await manager.update(User, { id }, { isActive, role });
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
